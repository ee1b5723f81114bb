# Cross build for 64-bit ARM (Jetson Orin, Raspberry Pi 4/5, Graviton) with Debian's cross
# compiler (crossbuild-essential-arm64) against the arm64 multiarch libraries that
# scripts/setup.sh installs. Tests run through qemu-aarch64 (CMAKE_CROSSCOMPILING_EMULATOR),
# which emulates a CPU with every extension the NEON kernels use (-cpu max: dotprod, i8mm);
# FATHOM_QEMU_CPU picks another model, e.g. cortex-a72 (a Raspberry Pi 4: NEON only).
# See docs/edge.md.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

# libpq-dev and libyaml-cpp-dev are not multiarch: scripts/setup.sh unpacks their arm64 builds
# here. Everything else comes from the multiarch paths (/usr/lib/aarch64-linux-gnu).
set(FATHOM_ARM64_DEV "$ENV{FATHOM_ARM64_DEV}")
if(NOT FATHOM_ARM64_DEV)
  set(FATHOM_ARM64_DEV /opt/fathom-arm64-dev)
endif()
set(CMAKE_FIND_ROOT_PATH ${FATHOM_ARM64_DEV} /usr/aarch64-linux-gnu /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# The host's pkg-config, reading only the arm64 .pc files.
set(ENV{PKG_CONFIG_LIBDIR}
    "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig:${FATHOM_ARM64_DEV}/usr/lib/aarch64-linux-gnu/pkgconfig")

set(FATHOM_QEMU_CPU "$ENV{FATHOM_QEMU_CPU}")
if(NOT FATHOM_QEMU_CPU)
  set(FATHOM_QEMU_CPU max)
endif()
# `-L /`, not `-L /usr/aarch64-linux-gnu` (nor QEMU_LD_PREFIX, which `-L` overrides): that prefix
# holds the cross toolchain's own glibc (libc6-arm64-cross, 2.36-8), and qemu takes the loader
# from it (/lib/ld-linux-aarch64.so.1) but libc.so.6 from the multiarch libc6:arm64 (the -dev
# packages' 2.36-9+deb12u14; the prefix has no lib/aarch64-linux-gnu). That mixed pair hangs in
# the first pthread_create, with no system call after it: `fathom generate` logged the KV cache
# and never produced a token (docs/edge.md, "qemu and the loader"). With `/`, qemu runs the multiarch loader and
# libraries, as an arm64 Debian would.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L / -cpu ${FATHOM_QEMU_CPU})
