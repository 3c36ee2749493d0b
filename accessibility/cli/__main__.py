"""``python -m accessibility.cli``: the same command line as ``accessibility``."""

from . import main

if __name__ == "__main__":
    main()
