#!/usr/bin/env bash
# `make i18n`: regenerate each addon's .pot with Odoo and merge its .po files
# (see setup/i18n.py). `setup/i18n.sh --check` only runs the translation checks.
exec "$(dirname "${BASH_SOURCE[0]}")/with-odoo.sh" i18n.py "$@"
