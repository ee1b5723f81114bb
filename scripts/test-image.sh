#!/usr/bin/env bash
# Builds the fathom image (scripts/build-image.sh) and proves it works: the runtime stage finds
# every shared library, runs as a non-root user and has its HEALTHCHECK; `fathom serve` runs in
# it on a fixture model mounted at /models with the port published (-p), the HEALTHCHECK turns
# healthy, the official openai client (tests/e2e/node_modules) gets a completion and a stream
# through the published port, the gateway's Kubernetes ConfigMap passes --check-config with
# the image's own binary, and SIGTERM drains and exits 0. Prints how long each part took
# (docs/deploy.md records a run).
#
# usage: sudo scripts/test-image.sh [--no-build] [--tag IMAGE]
# Slow (a Release build of fathom in the build stage): CI runs it only when the Containerfile
# or these scripts change (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/podman-env.sh

version=$(sed -n 's/^project(fathom .*VERSION \([0-9.]*\)).*/\1/p' CMakeLists.txt)
tag="localhost/fathom:${version}"
build=1
while (($#)); do
  case "$1" in
    --no-build) build=0; shift ;;
    --tag) tag="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "test-image: unknown argument $1" >&2; exit 2 ;;
  esac
done

t0=$SECONDS
if ((build)); then
  bash scripts/build-image.sh --tag "$tag"
fi
t_build=$((SECONDS - t0))
podman_env_setup "$tag"

name="fathom-test-image-$$"
work=$(mktemp -d)
cleanup() {
  "${PODMAN[@]}" rm -f "$name" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "test-image: FAIL: $*" >&2; "${PODMAN[@]}" logs "$name" 2>&1 | tail -20 >&2 || true; exit 1; }

# ---- the image itself ----
cfg=$("${PODMAN[@]}" image inspect "$tag" --format '{{json .Config}}')
health=$("${PODMAN[@]}" image inspect "$tag" --format '{{json .HealthCheck}}')
node -e '
  const c = { ...JSON.parse(process.argv[1]), Healthcheck: JSON.parse(process.argv[2]) };
  const want = (ok, what) => { if (!ok) { console.error("test-image: FAIL: image " + what + ": " + JSON.stringify(c)); process.exit(1); } };
  want(JSON.stringify(c.Entrypoint) === JSON.stringify(["/usr/local/bin/fathom"]), "entrypoint is not fathom");
  want(c.User === "10001:10001", "does not run as the non-root user 10001");
  want(c.Healthcheck && c.Healthcheck.Test.join(" ").includes("fathom-healthcheck"), "has no HEALTHCHECK");
' "$cfg" "$health"
missing=$("${PODMAN[@]}" run --rm "${RUN_LIMITS[@]}" --network none --no-healthcheck --entrypoint /usr/bin/ldd "$tag" /usr/local/bin/fathom | grep 'not found' || true)
[ -z "$missing" ] || fail "shared libraries missing in the runtime stage: $missing"
size=$("${PODMAN[@]}" image inspect "$tag" --format '{{.Size}}')
echo "test-image: image $tag, $((size / 1024 / 1024)) MiB, entrypoint fathom, user 10001, all libraries found"

# ---- the gateway's ConfigMap, checked by the image's binary ----
kubectl kustomize deploy/k8s/overlays/saas 2>/dev/null |
  node -e '
    const YAML = require(process.argv[1]);
    const docs = YAML.parseAllDocuments(require("fs").readFileSync(0, "utf8")).map((d) => d.toJSON());
    process.stdout.write(docs.find((d) => d && d.kind === "ConfigMap" && d.data && d.data["gateway.yaml"]).data["gateway.yaml"]);
  ' "$PWD/tests/e2e/node_modules/yaml" >"$work/gateway.yaml"
chmod 644 "$work/gateway.yaml"
"${PODMAN[@]}" run --rm "${RUN_LIMITS[@]}" --network none --no-healthcheck -v "$work/gateway.yaml:/etc/fathom/gateway.yaml:ro" \
  "$tag" gateway --check-config --config /etc/fathom/gateway.yaml | grep -q '^OK ' || fail "gateway --check-config in the image"
echo "test-image: fathom gateway --check-config accepts deploy/k8s's gateway.yaml"

# ---- fathom serve on a fixture model, the private-deployment one-liner ----
port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
t1=$SECONDS
# (Without systemd, podman cannot schedule the HEALTHCHECK itself and says so on stderr; it is
# run below with `podman healthcheck run`.)
"${PODMAN[@]}" run -d --name "$name" "${RUN_LIMITS[@]}" \
  -v "$PWD/tests/data/models/deepseek_v3:/models:ro" -p "127.0.0.1:${port}:8000" \
  "$tag" serve --model /models --host 0.0.0.0 >/dev/null 2>"$work/run.err" || { cat "$work/run.err" >&2; fail "podman run"; }
# The HEALTHCHECK (GET /health on 8000 inside the container) must turn healthy: model loaded.
deadline=$((SECONDS + 120))
until "${PODMAN[@]}" healthcheck run "$name" >/dev/null 2>&1; do
  ((SECONDS < deadline)) || fail "HEALTHCHECK not healthy after 120 s"
  [ "$("${PODMAN[@]}" inspect "$name" --format '{{.State.Running}}')" = true ] || fail "the container exited"
  sleep 1
done
t_ready=$((SECONDS - t1))
[ "$("${PODMAN[@]}" exec "$name" id -u)" = 10001 ] || fail "serve does not run as uid 10001"
echo "test-image: serve healthy ${t_ready} s after podman run (HEALTHCHECK passes), runs as uid 10001"

# The official openai client, through the published port.
(cd tests/e2e && FATHOM_URL="http://127.0.0.1:${port}/v1" node --input-type=module -e '
  import OpenAI from "openai";
  const client = new OpenAI({ baseURL: process.env.FATHOM_URL, apiKey: "unused" });
  const models = await client.models.list();
  const model = models.data[0].id;
  const chat = await client.chat.completions.create({ model, messages: [{ role: "user", content: "Hello!" }], max_tokens: 8 });
  if (!chat.choices[0].message.content || chat.usage.completion_tokens < 1) throw new Error("empty completion: " + JSON.stringify(chat));
  let chunks = 0;
  const stream = await client.chat.completions.create({ model, messages: [{ role: "user", content: "Hi" }], max_tokens: 8, stream: true });
  for await (const c of stream) if (c.choices[0]?.delta?.content) chunks++;
  if (chunks < 1) throw new Error("the stream carried no content");
  console.log(`test-image: openai client: model ${model}, ${chat.usage.completion_tokens} tokens, a stream of ${chunks} chunks`);
') || fail "openai client"

# SIGTERM drains and exits 0.
"${PODMAN[@]}" stop -t 60 "$name" >/dev/null 2>>"$work/run.err"
code=$("${PODMAN[@]}" inspect "$name" --format '{{.State.ExitCode}}')
[ "$code" = 0 ] || fail "exit code $code after SIGTERM"
echo "test-image: SIGTERM: drained, exit 0"
echo "test-image: PASS (build ${t_build} s, serve ready ${t_ready} s, total $((SECONDS - t0)) s)"
