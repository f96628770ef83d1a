"""``sdde.trace``: record a real training job's rounds (:class:`RoundRecorder`).

>>> from sdde.trace import RoundRecorder
>>> rec = RoundRecorder()
"""

from sdde.cluster.recorder import RoundRecorder

__all__ = ["RoundRecorder"]
