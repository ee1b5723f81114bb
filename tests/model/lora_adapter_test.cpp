// PEFT adapter loading: the config's fields, every way an adapter folder can be wrong (each a
// clear error naming the field, module or tensor), and the bounded LRU cache of adapters.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "formats/safetensors.h"
#include "model/lora/adapter_cache.h"
#include "model/lora/lora_config.h"
#include "model/model.h"
#include "support/lora_fixture.h"
#include "support/reference.h"
#include "support/temp_dir.h"

namespace fathom::model::lora {
namespace {

using fathom::testing::fixture_dir;
using fathom::testing::TempDir;
using fathom::testing::write_text;

std::string config_error(const std::string& text) {
  auto c = parse_lora_config(text, "adapter_config.json");
  return c.ok() ? "" : c.status().message();
}

TEST(LoraConfigTest, ReadsRankAlphaTargetsAndScale) {
  auto c = parse_lora_config(
      R"({"peft_type":"LORA","r":8,"lora_alpha":16,"target_modules":["q_proj","v_proj"],"bias":"none",
          "modules_to_save":null,"use_rslora":false,"lora_dropout":0.05})",
      "x");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->rank, 8);
  EXPECT_FLOAT_EQ(c->scale(), 2.0f);
  EXPECT_TRUE(c->targets.matches("model.layers.0.self_attn.q_proj"));
  EXPECT_FALSE(c->targets.matches("model.layers.0.self_attn.k_proj"));
  EXPECT_FALSE(c->targets.matches("model.layers.0.self_attn.xq_proj"));  // suffix at a dot only

  auto rs = parse_lora_config(
      R"({"r":16,"lora_alpha":8,"target_modules":"all-linear","use_rslora":true})", "x");
  ASSERT_TRUE(rs.ok());
  EXPECT_FLOAT_EQ(rs->scale(), 2.0f);  // 8 / sqrt(16)
  EXPECT_TRUE(rs->targets.matches("model.layers.3.mlp.experts.7.up_proj"));

  auto re = parse_lora_config(
      R"({"r":4,"lora_alpha":4,"target_modules":"model\\.layers\\.1\\..*_proj"})", "x");
  ASSERT_TRUE(re.ok()) << re.status().to_string();
  EXPECT_TRUE(re->targets.matches("model.layers.1.self_attn.o_proj"));
  EXPECT_FALSE(re->targets.matches("model.layers.11.self_attn.o_proj"));
  EXPECT_FALSE(re->targets.matches("xmodel.layers.1.self_attn.o_proj"));  // the whole name
}

TEST(LoraConfigTest, EveryBadFieldIsNamed) {
  EXPECT_NE(config_error("[1]").find("not a JSON object"), std::string::npos);
  EXPECT_NE(config_error("{").find("not a JSON object"), std::string::npos);
  const std::string all = config_error(
      R"({"peft_type":"IA3","r":0,"lora_alpha":"x","bias":"all","modules_to_save":["lm_head"],
          "use_dora":true,"rank_pattern":{"q_proj":4},"use_rslora":"yes"})");
  for (const char* want :
       {"peft_type: 'IA3' is not LORA", "r: must be", "lora_alpha", "bias: 'all' is not supported",
        "modules_to_save:", "use_dora:", "rank_pattern:", "use_rslora", "target_modules: missing"})
    EXPECT_NE(all.find(want), std::string::npos) << want << " in " << all;
  EXPECT_NE(
      config_error(R"({"r":4,"lora_alpha":8,"target_modules":[]})").find("target_modules: empty"),
      std::string::npos);
  EXPECT_NE(config_error(R"({"r":4,"lora_alpha":8,"target_modules":[3]})")
                .find("target_modules: every entry"),
            std::string::npos);
  EXPECT_NE(config_error(R"({"r":4,"lora_alpha":8,"target_modules":"("})").find("does not compile"),
            std::string::npos);
  EXPECT_NE(
      config_error(R"({"r":4,"lora_alpha":8,"target_modules":7})").find("target_modules: must be"),
      std::string::npos);
  EXPECT_NE(config_error(R"({"r":4,"lora_alpha":null,"target_modules":["q_proj"]})")
                .find("lora_alpha: must be"),
            std::string::npos);
}

class LoraAdapterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = load_model(fixture_dir("deepseek_v2"));
    ASSERT_TRUE(m.ok());
    model_ = std::move(*m);
  }
  /// A valid adapter at DIR, then `edit` applied to its config.
  std::string make(const std::string& name, const std::function<void(nlohmann::json&)>& edit = {}) {
    const std::string dir = tmp_.file(name);
    fathom::testing::RandomAdapterSpec spec;
    spec.target_modules = {"q_proj", "o_proj"};
    EXPECT_TRUE(fathom::testing::write_random_adapter(fixture_dir("deepseek_v2"), dir, spec).ok());
    if (edit) {
      auto j = nlohmann::json::parse(fathom::testing::read_bytes(dir + "/adapter_config.json"));
      edit(j);
      write_text(dir + "/adapter_config.json", j.dump());
    }
    return dir;
  }
  std::string error_of(const std::string& dir) {
    auto a = load_lora_adapter("x", dir, model_->lora_targets());
    return a.ok() ? "" : a.status().message();
  }
  void write_tensors(const std::string& dir, const std::vector<formats::OwnedTensor>& t) {
    ASSERT_TRUE(formats::write_safetensors(dir + "/adapter_model.safetensors", t).ok());
  }
  static formats::OwnedTensor t(const std::string& name, std::vector<int64_t> shape) {
    return formats::make_f32_tensor(
        name, shape, std::vector<float>(static_cast<size_t>(shape[0] * shape[1]), 0.5f));
  }

  TempDir tmp_;
  std::unique_ptr<Model> model_;
};

TEST_F(LoraAdapterTest, LoadsAValidAdapter) {
  auto a = load_lora_adapter("ok", make("ok"), model_->lora_targets());
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  int n = 0;
  for (const auto& d : (*a)->deltas) n += d.has_value();
  EXPECT_EQ(n, 2 * 3);  // q_proj and o_proj in each of three layers
  EXPECT_FLOAT_EQ((*a)->scale, 2.0f);
}

TEST_F(LoraAdapterTest, BadFoldersGiveClearErrors) {
  EXPECT_NE(error_of(tmp_.file("missing")).find("adapter_config.json: cannot open"),
            std::string::npos);
  const std::string no_weights = make("no_weights");
  std::filesystem::remove(no_weights + "/adapter_model.safetensors");
  EXPECT_NE(error_of(no_weights).find("adapter_model.safetensors: missing"), std::string::npos);
  const std::string truncated = make("truncated");
  write_text(truncated + "/adapter_model.safetensors", "\x10\0\0\0");
  EXPECT_FALSE(error_of(truncated).empty());
  EXPECT_NE(
      error_of(make("bias", [](auto& j) { j["bias"] = "lora_only"; })).find("bias: 'lora_only'"),
      std::string::npos);
  EXPECT_NE(error_of(make("save", [](auto& j) { j["modules_to_save"] = {"lm_head"}; }))
                .find("modules_to_save"),
            std::string::npos);
  EXPECT_NE(
      error_of(make("rank", [](auto& j) { j["r"] = 8; })).find("shape [4, 64] expected [8, 64]"),
      std::string::npos);
  EXPECT_NE(error_of(make("targets", [](auto& j) { j["target_modules"] = {"q_proj"}; }))
                .find("model.layers.0.self_attn.o_proj: has LoRA weights but is not in "
                      "target_modules [q_proj]"),
            std::string::npos);
}

TEST_F(LoraAdapterTest, TensorProblemsAreAllListed) {
  const std::string dir = make("tensors", [](auto& j) { j["target_modules"] = "all-linear"; });
  const std::string p = "base_model.model.model.layers.0.";
  write_tensors(dir,
                {t(p + "self_attn.kv_b_proj.lora_A.weight", {4, 32}),
                 t(p + "self_attn.kv_b_proj.lora_B.weight", {128, 4}),
                 t(p + "self_attn.rotary.lora_A.weight", {4, 64}),
                 t(p + "self_attn.q_proj.lora_A.weight", {4, 64}),
                 t(p + "self_attn.o_proj.lora_B.weight", {64, 5}), t("lm_head.weight", {4, 4})});
  const std::string e = error_of(dir);
  for (const char* want : {"kv_b_proj: LoRA on kv_b_proj is not supported",
                           "model.layers.0.self_attn.rotary: the base model has no projection",
                           "self_attn.q_proj: has lora_A but no lora_B",
                           "o_proj.lora_B.weight: shape [64, 5] expected [64, 4]",
                           "lm_head.weight: not a LoRA factor"})
    EXPECT_NE(e.find(want), std::string::npos) << want << " in " << e;
  write_tensors(dir, {});
  EXPECT_NE(error_of(dir).find("holds no LoRA weights"), std::string::npos);
}

TEST_F(LoraAdapterTest, CacheEvictsTheLeastRecentlyUsedAdapterNotInUse) {
  AdapterCache cache(model_->lora_targets(), 2);
  ASSERT_TRUE(cache.add("a", make("a")).ok());
  ASSERT_TRUE(cache.add("b", make("b")).ok());
  EXPECT_EQ(cache.add("a", make("a2")).code(), Code::kInvalidArgument);  // name taken
  ASSERT_TRUE(cache.acquire("a").ok());                                  // b is now the LRU
  ASSERT_TRUE(cache.add("c", make("c")).ok());
  EXPECT_EQ(cache.num_evictions(), 1);
  auto loaded = [&] {
    std::string s;
    for (const AdapterInfo& i : cache.list()) s += i.name + (i.loaded ? "+ " : "- ");
    return s;
  };
  EXPECT_EQ(loaded(), "a+ b- c+ ");

  // In use by a request: never evicted. With both slots held, a reload is refused.
  auto held_a = cache.acquire("a");
  auto held_c = cache.acquire("c");
  ASSERT_TRUE(held_a.ok() && held_c.ok());
  auto b = cache.acquire("b");
  EXPECT_EQ(b.status().code(), Code::kResourceExhausted);
  EXPECT_NE(b.status().message().find("--max-loras"), std::string::npos);
  held_a = not_found("released");  // the request finished
  b = cache.acquire("b");          // evicts a, reloads b from its folder
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  EXPECT_EQ(loaded(), "a- b+ c+ ");

  EXPECT_EQ(cache.acquire("nope").status().code(), Code::kNotFound);
  EXPECT_TRUE(cache.remove("b").ok());
  EXPECT_EQ(cache.remove("b").code(), Code::kNotFound);
  EXPECT_FALSE(cache.has("b"));
  EXPECT_EQ((*b)->name, "b");  // a running request keeps its adapter after the unload
  EXPECT_EQ(cache.add("bad", tmp_.file("nowhere")).code(), Code::kNotFound);
  EXPECT_FALSE(cache.has("bad"));
}

}  // namespace
}  // namespace fathom::model::lora
