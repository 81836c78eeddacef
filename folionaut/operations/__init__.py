"""Operations: what the CLI does besides serving — backups, the schema, checks and the admin key.

Each module is the substance of one or more commands, so ``folionaut/cli/``
stays a thin shell: parse options, call here, print, choose the exit code.
"""
