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
//   - Executable ELF files up to 64 MiB: Go build info (module
//     dependencies and the standard library as "stdlib").
//   - package-lock.json (v1, v2, v3): npm.
//   - *.dist-info/METADATA and *.egg-info/PKG-INFO: PyPI.
//   - META-INF/maven/<group>/<artifact>/pom.properties as plain files:
//     Maven.
//
// Not read: rpm databases; jars, wars and wheels (zip files: the Maven
// metadata inside a jar is not seen); node_modules/*/package.json and
// npm's hidden node_modules/.package-lock.json; egg-info files that are
// not directories. Symbolic links are not followed. Language packages that
// an OS package owns are reported twice, once per ecosystem.
//
// A non-directory entry replaces whatever a lower layer had at its path,
// subtree included. The inventory honours that for whiteouts, symbolic and
// hard links, device and FIFO entries, package databases and ELF
// executables, but not for other regular files: a lower directory of
// packages replaced by an ordinary file of the same name is still
// reported.
package inventory
