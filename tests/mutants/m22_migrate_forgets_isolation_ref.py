"""m22: migration's refcount check forgets the isolation reference: every migration is refused
with EAGAIN.
"""

from tests.mutants._patch import Patch, mutant

factory = mutant(
    Patch('ZbudPool', 'migrate',
          'old.refcount == 1 + occupied',
          'old.refcount == occupied'),
)
