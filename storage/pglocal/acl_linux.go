package pglocal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"syscall"
)

// The POSIX ACL as Linux stores it in the system.posix_acl_access extended
// attribute (include/uapi/linux/posix_acl_xattr.h). Writing it directly does
// what `setfacl -m u:postgres:x` does without needing the acl package.
const (
	aclXattr   = "system.posix_acl_access"
	aclVersion = 2

	aclUserObj  = 0x01
	aclUser     = 0x02
	aclGroupObj = 0x04
	aclGroup    = 0x08
	aclMask     = 0x10
	aclOther    = 0x20

	aclUndefinedID = 0xFFFFFFFF
)

type aclEntry struct {
	tag  uint16
	perm uint16
	id   uint32
}

// readACL returns the access ACL of path, or nil when it has none.
func readACL(path string) ([]aclEntry, error) {
	buf := make([]byte, 1024)
	for {
		n, err := syscall.Getxattr(path, aclXattr, buf)
		switch {
		case errors.Is(err, syscall.ERANGE):
			buf = make([]byte, len(buf)*4)
			continue
		case errors.Is(err, syscall.ENODATA), errors.Is(err, syscall.ENOTSUP):
			return nil, nil
		case err != nil:
			return nil, &fs.PathError{Op: "getxattr", Path: path, Err: err}
		}
		return decodeACL(buf[:n])
	}
}

func decodeACL(b []byte) ([]aclEntry, error) {
	if len(b) < 4 || (len(b)-4)%8 != 0 || binary.LittleEndian.Uint32(b) != aclVersion {
		return nil, fmt.Errorf("malformed ACL xattr (%d bytes)", len(b))
	}
	var es []aclEntry
	for p := b[4:]; len(p) > 0; p = p[8:] {
		es = append(es, aclEntry{
			tag:  binary.LittleEndian.Uint16(p),
			perm: binary.LittleEndian.Uint16(p[2:]),
			id:   binary.LittleEndian.Uint32(p[4:]),
		})
	}
	return es, nil
}

func encodeACL(es []aclEntry) []byte {
	b := binary.LittleEndian.AppendUint32(nil, aclVersion)
	for _, e := range es {
		b = binary.LittleEndian.AppendUint16(b, e.tag)
		b = binary.LittleEndian.AppendUint16(b, e.perm)
		b = binary.LittleEndian.AppendUint32(b, e.id)
	}
	return b
}

// grantSearchACL adds (or extends) a named-user entry giving uid search (x)
// permission on dir, recomputing the mask as setfacl does. The group-owner
// and other entries keep their permissions, so nobody else gains access.
func grantSearchACL(dir string, mode fs.FileMode, uid int) error {
	es, err := readACL(dir)
	if err != nil {
		return err
	}
	if es == nil {
		es = []aclEntry{
			{aclUserObj, uint16(mode>>6) & 7, aclUndefinedID},
			{aclGroupObj, uint16(mode>>3) & 7, aclUndefinedID},
			{aclOther, uint16(mode) & 7, aclUndefinedID},
		}
	}
	found := false
	for i := range es {
		if es[i].tag == aclUser && es[i].id == uint32(uid) {
			es[i].perm |= 1
			found = true
		}
	}
	if !found {
		es = append(es, aclEntry{aclUser, 1, uint32(uid)})
	}
	var mask uint16
	es = slices.DeleteFunc(es, func(e aclEntry) bool { return e.tag == aclMask })
	for _, e := range es {
		if e.tag == aclUser || e.tag == aclGroupObj || e.tag == aclGroup {
			mask |= e.perm
		}
	}
	es = append(es, aclEntry{aclMask, mask, aclUndefinedID})
	slices.SortFunc(es, func(a, b aclEntry) int {
		if a.tag != b.tag {
			return int(a.tag) - int(b.tag)
		}
		return int(int64(a.id) - int64(b.id))
	})
	if err := syscall.Setxattr(dir, aclXattr, encodeACL(es), 0); err != nil {
		return &fs.PathError{Op: "setxattr", Path: dir, Err: err}
	}
	return nil
}

// canSearch reports whether a process with uid and groups may traverse dir,
// following the POSIX ACL access-check algorithm (acl(5)).
func canSearch(dir string, fi os.FileInfo, uid int, gids []int) (bool, error) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return false, fmt.Errorf("stat %s: no ownership information", dir)
	}
	es, err := readACL(dir)
	if err != nil {
		return false, err
	}
	return searchAllowed(st.Uid, st.Gid, uint16(fi.Mode().Perm()), es, uint32(uid), gids), nil
}

func searchAllowed(owner, group uint32, perm uint16, es []aclEntry, uid uint32, gids []int) bool {
	const x = 1
	inGroup := func(g uint32) bool { return slices.Contains(gids, int(g)) }
	if uid == owner {
		return perm>>6&x != 0
	}
	if es == nil {
		if inGroup(group) {
			return perm>>3&x != 0
		}
		return perm&x != 0
	}
	mask := uint16(7)
	for _, e := range es {
		if e.tag == aclMask {
			mask = e.perm
		}
	}
	for _, e := range es {
		if e.tag == aclUser && e.id == uid {
			return e.perm&mask&x != 0
		}
	}
	matched := false
	for _, e := range es {
		if (e.tag == aclGroupObj && inGroup(group)) || (e.tag == aclGroup && inGroup(e.id)) {
			if e.perm&mask&x != 0 {
				return true
			}
			matched = true
		}
	}
	if matched {
		return false
	}
	for _, e := range es {
		if e.tag == aclOther {
			return e.perm&x != 0
		}
	}
	return false
}
