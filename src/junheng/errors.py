"""Errors meant for users: each carries a complete Chinese message; the CLI prints it and exits
non-zero instead of showing a traceback."""


class JunhengError(Exception):
    exit_code = 1

    def user_message(self) -> str:
        return str(self)
