// Built into each shared library: the version string, for `strings` and debuggers.
extern "C" __attribute__((visibility("default"), used)) const char hostcompute_version[] = "hostcompute 0.1.0";
