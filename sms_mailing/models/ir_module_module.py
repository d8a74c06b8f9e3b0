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
        ``sms`` module's files just loaded: the states and failure types of
        an SMS that Odoo's translations word badly (Russian «Отгружено»,
        shipped goods, for *Delivered*; French «Dupliquer», the verb, for
        *Duplicate*...)."""
        super()._load_module_terms(
            modules, langs, overwrite=overwrite, imported_module=imported_module
        )
        if not {"sms", "sms_mailing"} & set(modules):
            return
        importer = TranslationImporter(self.env.cr, verbose=False)
        loaded = False
        for lang in langs:
            # As Odoo's own files: the base language, then the variant.
            for name in dict.fromkeys((lang.split("_")[0], lang)):
                try:
                    path = file_path(f"sms_mailing/i18n_core/{name}.po")
                except FileNotFoundError:
                    continue
                importer.load_file(path, lang)
                loaded = True
        if loaded:
            importer.save(overwrite=True, force_overwrite=True)
