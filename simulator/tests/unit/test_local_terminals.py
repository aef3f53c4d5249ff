"""The local stack's terminals and mail settings are what the kit's parser accepts, every setting known."""

from __future__ import annotations

from local.config import mail_settings_json, terminals_json
from orders.terminals import MailConfiguration, Terminals


def test_the_local_stacks_terminals_parse_with_every_setting_known() -> None:
    terminals = Terminals.from_json(terminals_json("http://127.0.0.1:3000", "http://b.example", "http://c.example"))
    assert sorted(terminals.by_tpe) == ["0900157", "0900158", "0900159"]
    mail = MailConfiguration.from_json(mail_settings_json())
    assert sorted(mail.by_tpe) == ["0900157", "0900158", "0900159"]
