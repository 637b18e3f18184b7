FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY watcher ./watcher
RUN pip install --no-cache-dir '.[postgres]'
COPY config ./config
COPY seeds ./seeds
ENTRYPOINT ["watcher"]
CMD ["run"]
