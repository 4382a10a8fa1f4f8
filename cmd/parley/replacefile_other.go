//go:build !unix

package main

import "io/fs"

// fileOwner reports no owner where files have no Unix owner.
func fileOwner(fs.FileInfo) (uid, gid int, ok bool) { return 0, 0, false }

// mayFollow follows links where there is no sticky-directory rule.
func mayFollow(link, dir fs.FileInfo) bool { return true }
