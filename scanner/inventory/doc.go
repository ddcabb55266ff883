// Package inventory owns the package inventory of an image: which OS and
// language packages are installed, at which version, found in which file
// and added by which layer. A vulnerability scanner matches this list; the
// matching itself lives elsewhere.
//
// An image is read one layer at a time. [ReadLayer] streams a layer tar
// once and keeps only the files that hold packages, each under a size cap,
// together with the layer's whiteouts. Its result, a [Layer], depends only
// on the layer's bytes and the id it was given, so it can be cached per
// layer digest (it round-trips through encoding/json). [Squash] then
// stacks the layers of an image, lowest first, applying whiteouts the way
// the OCI image spec's layer changesets do, and returns the [Inventory].
//
// What is read (paths relative to the layer root):
//
//   - etc/os-release, usr/lib/os-release: the [Distro].
//   - var/lib/dpkg/status and var/lib/dpkg/status.d/* (distroless): dpkg.
//   - lib/apk/db/installed (also under var/ and usr/): apk.
//   - var/lib/rpm/ and usr/lib/sysimage/rpm/: Packages (Berkeley DB),
//     Packages.db (ndb) and rpmdb.sqlite, up to 256 MiB, spooled to a temp
//     file for github.com/knqyf263/go-rpmdb: rpm, without the gpg-pubkey
//     entries. Berkeley DB and ndb files are first checked for what would
//     crash or hang that library, and refused with a note; the rest are
//     read by go-rpmdb in a helper process (see [RunHelper]), so that what
//     it leaves running on a malformed header ends with that process.
//   - Executable ELF files up to 64 MiB: Go build info (module
//     dependencies and the standard library as "stdlib").
//   - package-lock.json (v1, v2, v3): npm.
//   - *.dist-info/METADATA and *.egg-info/PKG-INFO: PyPI.
//   - META-INF/maven/<group>/<artifact>/pom.properties as plain files:
//     Maven.
//
// Not read: jars, wars and wheels (zip files: the Maven metadata inside a
// jar is not seen); node_modules/*/package.json and npm's hidden
// node_modules/.package-lock.json; egg-info files that are not
// directories. Symbolic links are not followed (Fedora's var/lib/rpm is
// one; its database is read under usr/lib/sysimage/rpm/). Language
// packages that an OS package owns are reported twice, once per
// ecosystem.
//
// [Distro.Ecosystem] names the OSV ecosystem of the OS packages where
// os-release determines it: Debian, Ubuntu, Alpine, Rocky Linux and
// AlmaLinux. Red Hat's OSV ecosystems name a product stream
// ("Red Hat:enterprise_linux:9::baseos") that os-release doesn't give, and
// OSV has no Amazon Linux, CentOS or Fedora data of that kind, so rpm
// packages of those images get "" and can't be matched from OSV alone.
//
// A non-directory entry replaces whatever a lower layer had at its path,
// subtree included. The inventory honours that for whiteouts, symbolic and
// hard links, device and FIFO entries, package databases and ELF
// executables, but not for other regular files: a lower directory of
// packages replaced by an ordinary file of the same name is still
// reported.
package inventory
