# The local stand-in for python:3.11-slim, for machines that cannot pull images
# (deploy/image/image-test.sh builds it). FROM is the Debian bookworm root filesystem that
# `debootstrap --variant=minbase` made, imported with `docker import`. Python comes from Debian,
# with `python` and `python3` on the PATH as in python:3.11-slim.
#
# The context holds one file: the host's CA bundle. Outbound HTTPS may go through an
# intercepting proxy, so pip in the image build trusts what the host's pip trusts (PIP_CERT);
# PIP_DEFAULT_TIMEOUT is the host's too. The bundle stays in the image: it is a CI base, and the
# released image builds on the digest-pinned python:3.11-slim instead.
ARG ROOTFS
FROM ${ROOTFS}
ARG PIP_DEFAULT_TIMEOUT=15
ENV LANG=C.UTF-8 \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    PIP_DEFAULT_TIMEOUT=${PIP_DEFAULT_TIMEOUT}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3.11 python3.11-venv \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && ln -s /usr/bin/python3.11 /usr/local/bin/python3 \
 && ln -s /usr/bin/python3.11 /usr/local/bin/python
# After the install: Debian's ca-certificates (pulled in by python3.11) regenerates this file.
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
CMD ["python3"]
