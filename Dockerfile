FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml setup.py README.md ./
COPY watcher ./watcher
# gcc builds the matching engine's C part, then goes: the image keeps only the result
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && pip install --no-cache-dir '.[postgres]' \
    && apt-get purge -y gcc libc6-dev && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*
COPY config ./config
COPY seeds ./seeds
ENTRYPOINT ["watcher"]
CMD ["run"]
