"""Translatable sentences in ORM-free modules (tools/, provider clients).

A tools module declares its user-visible sentences with Odoo's lazy
translation, as Odoo's ``sms_api`` does::

    _lt = lazy_translate(__name__)
    NO_KEY = _lt("No SMS.ru API key (api_id) is configured on the provider.")

and turns one into text with :func:`translate`, in a language it is given (a
provider client gets its language in its configuration: the user's, or the
company's for a scheduled action). Without a language, Odoo's rules apply (the
language of the current web request), then English. Translations come from
the addon's ``i18n/*.po`` files, so this works without a database.
"""

from odoo.tools.translate import LazyGettext, LazyTranslate


def lazy_translate(module_name):
    """Odoo's ``LazyTranslate`` for ``module_name``, English when no language
    is known (no web request, no language given)."""
    return LazyTranslate(module_name, default_lang="en_US")


def translate(text, lang=None):
    """``text`` (a lazy sentence or a plain string) as a string in ``lang``.

    >>> _lt = lazy_translate("odoo.addons.sms_mailing.tools.i18n")
    >>> translate(_lt("%(count)s parts", count=3), "en_US")
    '3 parts'
    >>> translate("already text", "fr_FR")
    'already text'
    >>> translate(None) is None
    True
    """
    if isinstance(text, LazyGettext):
        # What Odoo's env._(lazy) does, with a language that is not an env's.
        return text._translate(lang or "")  # pylint: disable=protected-access
    return text
