#!/usr/bin/env bash
# Debian packages junheng needs beyond Python (reports: DOCX → PDF, PDF checks, Chinese fonts).
#
#   libreoffice-writer-nogui  headless LibreOffice Writer: converts the DOCX report to PDF,
#                             so the Word and the PDF report are the same document
#   poppler-utils             pdftoppm / pdftotext: the report tests rasterise and read the PDF
#   fonts-noto-cjk            Noto Sans/Serif CJK: Chinese glyphs for the PDF and the charts
#   fonts-arphic-ukai         AR PL UKai CN: the 楷体 headings of the PDF (reports/assets/fonts.conf)
#   chromium                  headless browser of the browser tests (Playwright)
#   openjdk-17-jre-headless   the Java runtime of the Spark backend (pyspark in local mode)
#
# Idempotent: packages already installed are skipped, and when nothing is missing it does not
# touch apt at all. `apt-get update` runs at most once. Needs root (or sudo) on Debian/Ubuntu.
# Usage: bash scripts/install-system-deps.sh        (JUNHENG_SKIP_SYSTEM_DEPS=1 to skip)
set -euo pipefail

PACKAGES=(libreoffice-writer-nogui poppler-utils fonts-noto-cjk fonts-arphic-ukai chromium openjdk-17-jre-headless)

if [ "${JUNHENG_SKIP_SYSTEM_DEPS:-}" = "1" ]; then
    echo "install-system-deps: skipped (JUNHENG_SKIP_SYSTEM_DEPS=1)"
    exit 0
fi

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    # Not Debian: say what is needed instead of guessing another package manager.
    missing_tools=()
    for tool in soffice pdftoppm pdftotext; do
        command -v "$tool" >/dev/null 2>&1 || missing_tools+=("$tool")
    done
    if [ ${#missing_tools[@]} -eq 0 ]; then
        echo "install-system-deps: not a Debian system; soffice, pdftoppm and pdftotext are present"
        exit 0
    fi
    echo "install-system-deps: not a Debian system and missing: ${missing_tools[*]}" >&2
    echo "  install LibreOffice (Writer), poppler-utils, the Noto CJK and AR PL UKai fonts with your package manager" >&2
    exit 1
fi

missing=()
for package in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-system-deps: all present (${PACKAGES[*]})"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install-system-deps: need root to install: ${missing[*]}" >&2
        exit 1
    fi
fi

echo "install-system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-system-deps: done"
