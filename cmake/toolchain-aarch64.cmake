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
# No `-L /usr/aarch64-linux-gnu`: that prefix holds the cross toolchain's own glibc
# (libc6-arm64-cross), older than the multiarch libc6:arm64 the -dev packages bring, and its
# ld.so with the newer libc.so.6 hangs in the first pthread_create. Without a prefix, qemu runs
# the multiarch loader (/lib/ld-linux-aarch64.so.1) and libraries, as an arm64 Debian would.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -cpu ${FATHOM_QEMU_CPU})
