"""Tools for developers: the simulated caller, benchmarks and local protocol servers."""
