# berth's container image: one static berth binary, run as a non-root user,
# with its data in the volume /data. Build it with scripts/docker-build.
#
# There is deliberately no `FROM golang` build stage. berth's development
# machines and CI cannot pull base images (the only registries they reach
# are the Go module proxy and Debian's), so such a stage could never run
# there. scripts/docker-build instead compiles berth with the Go toolchain
# that go.mod pins (CGO_ENABLED=0, -trimpath: a static binary that depends
# on nothing in the image), stages it in a scratch directory under .build/
# and passes that directory here as STAGE. The result is what a build stage
# would have produced: scratch plus the binary.
#
# The image holds nothing else: no shell, no CA certificates, no time zone
# data. /data and /tmp are empty directories owned by the berth user, so a
# fresh volume mounted at /data is writable and temporary files work.
FROM scratch

# STAGE is the directory, relative to the build context (the repository
# root), that holds berth and the empty data/ and tmp/ directories.
ARG STAGE=.build/docker

COPY ${STAGE}/berth /berth
COPY --chown=65532:65532 ${STAGE}/data /data
COPY --chown=65532:65532 ${STAGE}/tmp /tmp

USER 65532:65532
VOLUME ["/data"]
EXPOSE 5000
ENTRYPOINT ["/berth"]
CMD ["serve", "--listen", ":5000", "--data-dir", "/data"]
