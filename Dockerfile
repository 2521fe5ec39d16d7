# mcp-server-milvus over streamable HTTP, for shared deployments. See README.md, "Docker".
#
#   docker build -t mcp-server-milvus .                                  # add --build-arg EXTRAS=embeddings
#   docker run -p 8000:8000 -e MILVUS_MCP_AUTH_TOKEN -e MILVUS_URI=http://milvus:19530 -e MILVUS_TOKEN \
#     mcp-server-milvus --allowed-hosts milvus-mcp.internal
#
# It listens on 0.0.0.0:8000, so the server requires a bearer token (MILVUS_MCP_AUTH_TOKEN) and allowed
# hosts; secrets come from the environment, never the command line. Arguments after the image name are
# appended to the entrypoint's; `docker run ... mcp-server-milvus check` tests the connection instead.
FROM python:3.11-slim

ARG EXTRAS=""
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    XDG_DATA_HOME=/data

WORKDIR /src
COPY pyproject.toml README.md ./
COPY mcp_server_milvus ./mcp_server_milvus
RUN pip install ".${EXTRAS:+[$EXTRAS]}" \
    && useradd --system --uid 10001 --home-dir /data mcp \
    && mkdir -p /data \
    && chown mcp /data

# A Milvus Lite database, when no MILVUS_URI is given, lives at /data/mcp-server-milvus/milvus.db.
VOLUME /data
WORKDIR /data
USER mcp
EXPOSE 8000
ENTRYPOINT ["mcp-server-milvus", "--transport", "streamable-http", "--host", "0.0.0.0", "--port", "8000"]
