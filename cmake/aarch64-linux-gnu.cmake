# Cross-compiles for arm64 with Debian's toolchain; tests run under qemu-user.
# Debian's multiarch arm64 packages (libhwy-dev:arm64, libgtest-dev:arm64) install their
# libraries in /usr/lib/aarch64-linux-gnu and share the headers in /usr/include, which the
# cross compiler already searches last; so "/" is a find root beside the cross sysroot.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
# Debian ships arm64 Highway only as a shared library, so the binaries are dynamic. They run on
# the multiarch arm64 loader and libc (libc6:arm64: /lib/ld-linux-aarch64.so.1), which also
# finds libhwy and libstdc++ in /usr/lib/aarch64-linux-gnu. Do not add `-L /usr/aarch64-linux-gnu`
# (or LD_LIBRARY_PATH): that pairs the cross sysroot's ld.so with the multiarch libc.so.6, a
# different build of glibc, and every std::thread then hangs.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64)
