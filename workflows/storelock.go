package workflows

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// lockFile is the lock file of a DirStore; its name is never a version.
const lockFile = ".lock"

// lockStore takes an exclusive flock on dir's lock file, waiting for
// another holder, and returns its release. The lock goes with the process,
// so a crashed publish leaves nothing to clean up.
func lockStore(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}
