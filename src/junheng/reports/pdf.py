"""DOCX → PDF with LibreOffice in headless mode, so the Word and the PDF report are one document.

LibreOffice (Debian: libreoffice-writer-nogui), the Noto CJK fonts (fonts-noto-cjk) and AR PL
UKai (fonts-arphic-ukai) are installed by scripts/install-system-deps.sh. Each conversion runs
with a throw-away LibreOffice profile (so it neither waits for nor disturbs a LibreOffice the user
has open) and with assets/fonts.conf, which maps the Chinese font names of the document (仿宋,
宋体, 黑体) to the Noto CJK fonts and 楷体 to AR PL UKai CN when the named fonts are not installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

from junheng.errors import JunhengError

CANDIDATES = ("soffice", "libreoffice")
KNOWN_PATHS = (
    "/usr/bin/soffice", "/usr/lib/libreoffice/program/soffice", "/opt/libreoffice/program/soffice",
    "/Applications/LibreOffice.app/Contents/MacOS/soffice", "C:/Program Files/LibreOffice/program/soffice.exe",
)
TIMEOUT_SECONDS = 300
INSTALL_HINT = "请运行 scripts/install-system-deps.sh 安装 LibreOffice 和中文字体,或改用 --format docx 生成 Word 文档。"


class PdfUnavailable(JunhengError):
    pass


class PdfConversionFailed(JunhengError):
    pass


def find_soffice() -> str | None:
    configured = os.environ.get("JUNHENG_SOFFICE")
    if configured:
        return configured if Path(configured).is_file() else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return next((p for p in KNOWN_PATHS if Path(p).is_file()), None)


def fonts_conf() -> Path | None:
    """The aliasing fontconfig file, when the system has a fontconfig to include."""
    if not Path("/etc/fonts/fonts.conf").is_file():
        return None
    path = resources.files("junheng.reports") / "assets" / "fonts.conf"
    return Path(str(path))


def docx_to_pdf(docx: bytes) -> bytes:
    """Convert the bytes of a .docx file to the bytes of a PDF."""
    soffice = find_soffice()
    if soffice is None:
        raise PdfUnavailable(f"未找到 LibreOffice(soffice),无法生成 PDF。{INSTALL_HINT}")
    with tempfile.TemporaryDirectory(prefix="junheng-pdf-") as tmp:
        folder = Path(tmp)
        source = folder / "report.docx"
        source.write_bytes(docx)
        profile = (folder / "profile").as_uri()
        env = dict(os.environ)
        conf = fonts_conf()
        if conf is not None:
            env["FONTCONFIG_FILE"] = str(conf)
        env.setdefault("HOME", tmp)
        command = [soffice, f"-env:UserInstallation={profile}", "--headless", "--norestore", "--nologo",
                   "--nolockcheck", "--convert-to", "pdf:writer_pdf_Export", "--outdir", str(folder), str(source)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, env=env,
                                  check=False, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise PdfConversionFailed(f"LibreOffice 转换 PDF 超过 {TIMEOUT_SECONDS} 秒未完成。") from None
        except OSError as exc:
            raise PdfUnavailable(f"无法运行 LibreOffice({soffice}):{exc.strerror}。{INSTALL_HINT}") from None
        target = folder / "report.pdf"
        if done.returncode != 0 or not target.is_file() or target.stat().st_size == 0:
            detail = (done.stderr or done.stdout or "").strip().splitlines()[-3:]
            raise PdfConversionFailed("LibreOffice 未能把报告转换为 PDF" + (f":{' '.join(detail)}" if detail else "。"))
        return target.read_bytes()
