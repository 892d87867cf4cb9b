"""m25: migration while mapped: the refcount check ignores map references,
so a mapped page moves.
"""

from tests.mutants._patch import Patch, mutant

factory = mutant(
    Patch('ZbudPool', 'migrate',
          'old.refcount == 1 + occupied',
          'old.refcount >= 1 + occupied'),
)
