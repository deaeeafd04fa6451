"""``python -m bench``: run the benchmarks (arguments go to the import benchmark)."""

from bench.import_bench import main

if __name__ == "__main__":
    main()
