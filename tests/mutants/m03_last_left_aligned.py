"""m03: LAST placed left-aligned: the LAST buddy starts right after the header, on top of FIRST.
"""

from tests.mutants._patch import Patch, mutant

factory = mutant(
    Patch('ZbudPool', 'map',
          'start = self._page_size - (\n                    ((size + self._chunk_mask) >> self._chunk_shift) << self._chunk_shift\n                )',  # noqa: E501
          'start = self._zhdr'),
)
