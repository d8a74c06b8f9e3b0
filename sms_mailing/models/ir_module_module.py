"""Our corrections of Odoo's own ``sms`` translations, kept after each load."""

from odoo import models
from odoo.tools import file_path
from odoo.tools.translate import TranslationImporter


class IrModuleModule(models.Model):
    _inherit = "ir.module.module"

    def _load_module_terms(
        self, modules, langs, overwrite=False, imported_module=False
    ):
        """Then apply ``sms_mailing/i18n_core/<lang>.po`` over what the
        ``sms`` module's files just loaded (Odoo's Russian calls a delivered
        SMS «Отгружено», shipped goods; our screens say «Доставлено»)."""
        super()._load_module_terms(
            modules, langs, overwrite=overwrite, imported_module=imported_module
        )
        if not {"sms", "sms_mailing"} & set(modules):
            return
        importer = TranslationImporter(self.env.cr, verbose=False)
        loaded = False
        for lang in langs:
            try:
                path = file_path(f"sms_mailing/i18n_core/{lang.split('_')[0]}.po")
            except FileNotFoundError:
                continue
            importer.load_file(path, lang)
            loaded = True
        if loaded:
            importer.save(overwrite=True, force_overwrite=True)
