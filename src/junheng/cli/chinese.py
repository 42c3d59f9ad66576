"""The command line in Chinese: typer's help pages and click's usage errors, translated here once.

Typer (with its vendored click) writes its help and its usage errors in English: the panel titles
(Options, Arguments, Commands), "[default: …]", "[required]", the type words (<int>, <path>,
<bool>), "Usage:", the help option's "Show this message and exit.", and every usage error
("Missing argument", "No such option", "Invalid value", pydantic's "Input should be less than or
equal to 10", …). A user of junheng reads Chinese only, so:

- `ChineseTyper` is the `typer.Typer` every group of junheng.cli is made with: its commands and
  groups (`ChineseCommand`, `ChineseGroup`) write "用法:", "[选项]", "命令 [参数]...", Chinese type
  words and ranges, "显示帮助并退出", and show their help texts literally (no rich markup: a help
  that says "[uploads] keep_days" keeps its brackets);
- `install()` sets typer's rich help constants (panel titles, default, required, abort) and routes
  its error printer to `print_usage_error`;
- `usage_message(exc)` says in Chinese what was wrong, where (the argument's Chinese name and its
  name in the usage line, or the option) and what is expected (the help text, the range, the
  choices). The entry point (junheng.cli.main) and typer's own error path both print it.
"""

from __future__ import annotations

import re
from types import MethodType

import typer
from rich.markup import escape
from typer.core import TyperCommand, TyperGroup

HELP_TEXT = "显示帮助并退出"
OPTIONS_METAVAR = "[选项]"
SUBCOMMAND_METAVAR = "命令 [参数]..."
USAGE_PREFIX = "用法:"

# what typer calls a value's type (inside <…>), in Chinese; a flag (<bool>) shows no type: it takes no value
TYPE_WORDS = {
    "int": "整数", "int range": "整数", "float": "数", "float range": "数", "str": "文本", "text": "文本",
    "path": "路径", "file": "文件", "directory": "文件夹", "datetime": "日期时间", "uuid": "UUID",
}


def _cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _number(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def range_text(low, high) -> str | None:
    """"1–10", "≥ 1", "≤ 10" (None without bounds)."""
    if low is None and high is None:
        return None
    if low is None:
        return f"≤ {_number(high)}"
    if high is None:
        return f"≥ {_number(low)}"
    return f"{_number(low)}–{_number(high)}"


def _type_word(label: str | None) -> str | None:
    if not label or not (label.startswith("<") and label.endswith(">")):
        return label
    inner = label[1:-1]
    if inner == "bool":
        return None
    listed = re.fullmatch(r"list\[(.*)\]", inner)
    word = TYPE_WORDS.get((listed.group(1) if listed else inner).lower())
    return f"<{word}>" if word else label


def _localise_param(param, ctx) -> None:
    """The param's type and range as the help panel shows them, in Chinese (set on the instance:
    typer builds the params itself, so they cannot be given another class)."""
    if getattr(param, "_junheng_chinese", False):
        return
    original = param.display_type_rich(ctx)
    flag = getattr(param, "is_flag", False)

    def display_type_rich(self, ctx, _shown=None if flag else _type_word(original)):
        return _shown

    def number_range(self):
        shown = range_text(getattr(self, "min", None), getattr(self, "max", None))
        return f"取值 {shown}" if shown else None

    param.display_type_rich = MethodType(display_type_rich, param)
    param._get_number_range_help_str = MethodType(number_range, param)
    param._junheng_chinese = True


class _Chinese:
    """Shared by ChineseCommand and ChineseGroup (a mixin before the typer class)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # help texts are shown as written: typer parses them as rich markup, which would eat "[monitor]"
        self.plain_help = self.help
        if self.help:
            self.help = escape(self.help)
        if self.short_help:
            self.short_help = escape(self.short_help)
        for param in self.params:
            param.plain_help = param.help
            if param.param_type_name == "argument" and param.metavar is None:
                param.metavar = param.name.upper()  # one name for the argument: usage line, help panel, errors
            if getattr(param, "help", None):
                param.help = escape(param.help)
        if self.options_metavar == "[OPTIONS]":
            self.options_metavar = OPTIONS_METAVAR

    def get_help_option(self, ctx):
        option = super().get_help_option(ctx)
        if option is not None and option.help != HELP_TEXT:
            option.help = option.plain_help = HELP_TEXT
        return option

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except Exception as exc:
            # click's parser raises some usage errors (an option without its value) without the
            # context: attach it, so the message names the command and the option's help
            if "UsageError" in {cls.__name__ for cls in type(exc).__mro__} and getattr(exc, "ctx", None) is None:
                exc.ctx, exc.cmd = ctx, self
            raise

    def collect_usage_pieces(self, ctx) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                name = argument_name(param)
                pieces.append(name if param.required else f"[{name}]")
        return pieces

    def format_usage(self, ctx, formatter) -> None:
        formatter.write_usage(ctx.command_path, " ".join(self.collect_usage_pieces(ctx)), prefix=USAGE_PREFIX)

    def format_help(self, ctx, formatter) -> None:
        for param in self.get_params(ctx):
            _localise_param(param, ctx)
        return super().format_help(ctx, formatter)


class ChineseCommand(_Chinese, TyperCommand):
    pass


class ChineseGroup(_Chinese, TyperGroup):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.subcommand_metavar == "COMMAND [ARGS]...":
            self.subcommand_metavar = SUBCOMMAND_METAVAR

    def collect_usage_pieces(self, ctx) -> list[str]:
        return [*super().collect_usage_pieces(ctx), self.subcommand_metavar]


class ChineseTyper(typer.Typer):
    """A typer.Typer whose groups and commands speak Chinese (see the module's docstring)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("cls", ChineseGroup)
        kwargs.setdefault("options_metavar", OPTIONS_METAVAR)
        super().__init__(**kwargs)

    def command(self, name=None, *, cls=None, **kwargs):
        return super().command(name, cls=cls or ChineseCommand, **kwargs)


def argument_name(param) -> str:
    """An argument as the usage line names it: DATASET, COUNTY (its metavar, else its name in capitals)."""
    return param.metavar or param.name.upper()


def _plain_help(param) -> str:
    return (getattr(param, "plain_help", None) or getattr(param, "help", None) or "").strip()


def _split_help(param) -> tuple[str, str]:
    """("数据集", "CSV 文件夹或 XLSX 工作簿") from "数据集:CSV 文件夹或 XLSX 工作簿": the thing's Chinese name
    and, after it, what is expected (empty when the help is only a name)."""
    text = _plain_help(param)
    cut = re.search(r"[::;;,,((]", text)
    if not cut:
        return text, ""
    name, rest = text[:cut.start()].strip(), text[cut.start():].strip()
    if rest[:1] in "::":
        rest = rest[1:].strip()
    return name, rest


def _spaced(text: str) -> str:
    """`text` after a Chinese word: a space first when it starts with a Latin letter or a digit."""
    return f" {text}" if text[:1].isascii() and text[:1].isalnum() else text


def _param_named(ctx, hint):
    """The param a `param_hint` ("OUT", "--format") names, when the context has it."""
    if ctx is None or not isinstance(hint, str):
        return None
    for param in ctx.command.get_params(ctx):
        if hint in getattr(param, "opts", ()) or hint == argument_name(param) or hint == param.name:
            return param
    return None


def describe(param, hint=None) -> str:
    """Where the problem is: "参数 数据集(DATASET)", "选项 --years(预测年数)"."""
    if param is None:
        hint = hint if isinstance(hint, str) or hint is None else " / ".join(hint)
        if not hint:
            return "参数"
        return f"选项 {hint}" if hint.startswith("-") else f"参数 {hint}"
    name, _ = _split_help(param)
    if param.param_type_name == "argument":
        return f"参数 {name}({argument_name(param)})" if name else f"参数 {argument_name(param)}"
    option = max(param.opts, key=len) if param.opts else param.name
    return f"选项 {option}({name})" if name else f"选项 {option}"


def _choices(param) -> list[str] | None:
    descriptor = getattr(param, "type_descriptor", None)
    choices = getattr(descriptor, "choices", None) if descriptor is not None else None
    if not choices:
        return None
    return [str(getattr(c, "value", c)) for c in choices]


def _number_kind(param) -> str | None:
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    return {int: "整数", float: "数"}.get(annotation)


def expected(param) -> str:
    """What a value of `param` should be, in Chinese: "1–10 之间的整数", "以下之一:table、json、xlsx"."""
    choices = _choices(param)
    if choices:
        return "以下之一:" + "、".join(choices)
    kind = _number_kind(param)
    if kind:
        low, high = getattr(param, "min", None), getattr(param, "max", None)
        if low is not None and high is not None:
            return f"{_number(low)}–{_number(high)} 之间的{kind}"
        if low is not None:
            return f"不小于 {_number(low)} 的{kind}"
        if high is not None:
            return f"不大于 {_number(high)} 的{kind}"
        return kind
    _, rest = _split_help(param)
    return rest or _plain_help(param) or "有效的取值"


def _bad_value(exc) -> str:
    """A BadParameter: which value, where, and what is expected."""
    hint = getattr(exc, "param_hint", None)
    param = getattr(exc, "param", None) or _param_named(getattr(exc, "ctx", None), hint)
    where = describe(param, hint)
    cause = exc.__cause__
    errors = cause.errors() if hasattr(cause, "errors") else None
    if errors:  # typer coerces with pydantic: its messages are English ("Input should be ...")
        given = errors[0].get("input")
        shown = f"“{given}”" if given is not None and not isinstance(given, (list, tuple)) else ""
        choices = _choices(param) if param is not None else None
        if choices and shown:
            return f"{where}的取值无效:{shown}不是可选值;可选:{'、'.join(choices)}"
        return f"{where}的取值{shown}无效:应为{_spaced(expected(param) if param is not None else '有效的取值')}"
    message = str(exc.message or "").strip().rstrip("。.")
    if _cjk(message):  # our own BadParameter (typer.BadParameter("应为 年-月-日…"))
        return f"{where}的取值无效:{message}"
    if param is not None:
        return f"{where}的取值无效:应为{_spaced(expected(param))}"
    return f"{where}的取值无效"


def _missing(exc) -> str:
    param = getattr(exc, "param", None)
    if param is None:
        return f"缺少{describe(None, getattr(exc, 'param_hint', None))}"
    name, rest = _split_help(param)
    if param.param_type_name == "argument":
        label = f"{name}({argument_name(param)})" if name else argument_name(param)
        return f"缺少参数:{label}" + (f",应为{_spaced(rest)}" if rest else "")
    option = max(param.opts, key=len)
    return f"缺少必填的选项 {option}" + (f"({_plain_help(param)})" if _plain_help(param) else "")


def _subcommands(ctx) -> list[str]:
    command = getattr(ctx, "command", None)
    names = getattr(command, "commands", None) or {}
    return [n for n, c in names.items() if not getattr(c, "hidden", False)]


def usage_message(exc) -> str:
    """A usage error (click.exceptions.UsageError or a subclass) in Chinese: what, where, what was expected.
    Matched by class name: typer vendors its own click, a private module not imported here."""
    kinds = {cls.__name__ for cls in type(exc).__mro__}
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else "junheng"
    hint = f"运行 {command} --help 查看用法。"
    usage = ""
    if ctx is not None:
        try:
            usage = "\n" + ctx.command.get_usage(ctx)
        except Exception:  # noqa: BLE001 - the usage line is a courtesy; the message stands without it
            usage = ""
    message = str(getattr(exc, "message", "") or "")
    if "MissingParameter" in kinds:
        return f"{_missing(exc)}。{hint}{usage}"
    if "BadParameter" in kinds:
        return f"{_bad_value(exc)}。{hint}"
    if "NoSuchOption" in kinds:
        options = sorted(getattr(exc, "possibilities", None) or [])
        guess = f"(是否要输入 {'、'.join(options)}?)" if options else ""
        return f"没有选项 {exc.option_name}{guess}。{hint}"
    if "BadOptionUsage" in kinds:
        option = exc.option_name
        param = _option_param(ctx, option)
        if "does not take a value" in message:
            return f"选项 {option} 是开关,后面不能跟取值(写 {option} 即可)。{hint}"
        if "requires" in message:
            wanted = f",应为{_spaced(expected(param))}" if param is not None else ""
            return f"选项 {option} 后面缺少取值{wanted}。{hint}"
        return f"选项 {option} 的用法有误。{hint}"
    if "NoArgsIsHelpError" in kinds:
        return ""  # the help was shown
    if message.startswith("No such command"):
        found = re.findall(r"'([^']+)'", message)
        guess = f"(是否要输入 {'、'.join(found[1:])}?)" if len(found) > 1 else ""
        names = _subcommands(ctx)
        listed = f"可用的命令:{'、'.join(names)}。" if names and not guess else ""
        return f"没有命令 {found[0] if found else ''}{guess}。{listed}运行 {command} --help 查看全部命令。"
    if message.startswith("Got unexpected extra argument"):
        found = re.search(r"\(([^()]*)\)\s*$", message)
        extra = found.group(1) if found else ""
        return f"多余的参数:{extra}(这个命令不需要这么多参数,含空格的取值请加引号)。{hint}{usage}"
    if message.startswith("Missing command"):
        names = _subcommands(ctx)
        listed = f",可用的命令:{'、'.join(names)}" if names else ""
        return f"缺少命令:{command} 后面应写一个命令{listed}。{hint}"
    if _cjk(message):
        return f"{message.rstrip('。')}。{hint}"
    return f"命令用法有误。{hint}{usage}"


def _option_param(ctx, option: str):
    if ctx is None:
        return None
    return next((p for p in ctx.command.get_params(ctx) if option in getattr(p, "opts", ())), None)


def print_usage_error(exc, console=None) -> None:
    """Print a usage error as junheng prints every error: "错误:" and the Chinese message, on stderr."""
    from rich.console import Console

    text = usage_message(exc)
    if not text:
        return
    console = console or Console(stderr=True, soft_wrap=True)
    console.print(f"[red]错误:[/]{escape(text)}", highlight=False)


def install() -> None:
    """Typer's own help constants and error printer, in Chinese (idempotent)."""
    from typer import rich_utils

    rich_utils.ARGUMENTS_PANEL_TITLE = "参数"
    rich_utils.OPTIONS_PANEL_TITLE = "选项"
    rich_utils.COMMANDS_PANEL_TITLE = "命令"
    rich_utils.ERRORS_PANEL_TITLE = "错误"
    rich_utils.DEFAULT_STRING = "[缺省:{}]"
    rich_utils.ENVVAR_STRING = "[环境变量:{}]"
    rich_utils.REQUIRED_LONG_STRING = "[必填]"
    rich_utils.DEPRECATED_STRING = "(已弃用) "
    rich_utils.ABORTED_TEXT = "已取消。"
    rich_utils.RICH_HELP = "运行 {command_path} {help_option} 查看用法。"
    rich_utils.rich_format_error = print_usage_error
