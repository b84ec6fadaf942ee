//go:build !linux

package pglocal

import (
	"errors"
	"io/fs"
	"os"
)

// Outside Linux the launcher does not read ACLs: it trusts the mode bits
// and falls back to chmod o+x when the server user cannot traverse a dir.
func canSearch(dir string, fi os.FileInfo, uid int, gids []int) (bool, error) {
	return fi.Mode().Perm()&0o001 != 0, nil
}

func grantSearchACL(dir string, mode fs.FileMode, uid int) error {
	return errors.ErrUnsupported
}
