from .cli import main

if __name__ == "__main__":  # worker processes (Dask) import this module without running the CLI
    main(prog_name="python -m estimator")
