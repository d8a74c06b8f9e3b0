from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    """The modem is read by SMS Mailing's *SMS: fetch received messages*; the
    modem's own scheduled action (kept by ``noupdate``) goes."""
    env = api.Environment(cr, SUPERUSER_ID, {})
    cron = env.ref("sms_provider_modem.ir_cron_modem_poll", raise_if_not_found=False)
    if cron:
        cron.unlink()
