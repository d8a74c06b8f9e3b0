"""Joining the parts of concatenated inbound SMS (3GPP TS 23.040 9.2.3.24.1).

Pure Python, no ORM.
"""

import dataclasses
import datetime


@dataclasses.dataclass
class Assembled:
    """A whole inbound message and the storage keys of its parts."""

    sender: str
    text: str
    timestamp: datetime.datetime | None
    keys: list  # what the caller passed with each part (SIM indexes)
    complete: bool = True
    reference: int | None = None
    total: int = 1


class Reassembler:
    """Joins the parts of concatenated inbound messages.

    Feed every decoded :class:`Deliver` with a key (its SIM index) to
    :meth:`add`; :meth:`pop_complete` returns the whole messages (single ones
    at once, concatenated ones when every part is there) and forgets them.
    A part that arrives twice is kept once, both keys are returned so both
    copies get deleted. :meth:`pop_stale` gives up on messages whose parts
    stopped coming and returns what is there, a gap marked ``[...]``.
    """

    MISSING = "[...]"

    def __init__(self):
        self._single = []
        self._groups = {}  # (sender, ref, total) -> {seq: (Deliver, [keys])}

    def add(self, deliver, key=None):
        if not deliver.is_part:
            self._single.append(
                Assembled(deliver.sender, deliver.text, deliver.timestamp, [key])
            )
            return
        reference, total, seq = deliver.concat
        group = self._groups.setdefault((deliver.sender, reference, total), {})
        if seq in group:
            group[seq][1].append(key)
        else:
            group[seq] = (deliver, [key])

    def pop_complete(self):
        done = self._single
        self._single = []
        for group_key, group in list(self._groups.items()):
            if len(group) == group_key[2]:
                done.append(self._assemble(group_key, group))
                del self._groups[group_key]
        return done

    def pop_stale(self, older_than):
        """Incomplete messages whose newest part is older than ``older_than``
        (naive UTC), joined with the missing parts marked."""
        stale = []
        for group_key, group in list(self._groups.items()):
            stamps = [d.timestamp for d, _keys in group.values() if d.timestamp]
            if stamps and max(stamps) < older_than:
                stale.append(self._assemble(group_key, group))
                del self._groups[group_key]
        return stale

    @property
    def pending(self):
        """Number of incomplete messages waiting for parts."""
        return len(self._groups)

    def _assemble(self, group_key, group):
        sender, reference, total = group_key
        texts = []
        keys = []
        for seq in range(1, total + 1):
            if seq in group:
                deliver, part_keys = group[seq]
                texts.append(deliver.text)
                keys.extend(part_keys)
            else:
                texts.append(self.MISSING)
        stamps = [d.timestamp for d, _keys in group.values() if d.timestamp]
        return Assembled(
            sender=sender,
            text="".join(texts),
            timestamp=min(stamps) if stamps else None,
            keys=keys,
            complete=len(group) == total,
            reference=reference,
            total=total,
        )
