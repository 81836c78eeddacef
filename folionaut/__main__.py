"""`python -m folionaut` is the same as the `folionaut` command."""

from folionaut.cli import main

if __name__ == "__main__":
    main()
