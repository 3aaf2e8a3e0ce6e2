# Sourced by the build scripts (build.sh, test.sh, fuzz.sh): compile through ccache when it is
# installed (setup.sh installs it), keyed on paths relative to the checkout, so another clone of
# the same code reuses the objects: CI starts from a fresh clone every time, and four builds
# (Release, ASan, TSan, fuzz) from scratch took about half of its hour. Paths baked into the code
# (-D definitions) stay part of the key. The cache is ccache's own (~/.cache/ccache);
# CCACHE_DISABLE=1 builds without it.
cache_args=()
if command -v ccache > /dev/null; then
  export CCACHE_BASEDIR="$PWD"
  # The build folder's absolute path is then no part of the key either; debug line tables of a
  # reused object name the folder it was first compiled in (only the sanitizer builds have them).
  export CCACHE_NOHASHDIR=true
  cache_args=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
