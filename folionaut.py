#!/usr/bin/env python3
"""`python folionaut.py …` runs the `folionaut` command from a checkout."""

from folionaut.cli import main

if __name__ == "__main__":
    main()
