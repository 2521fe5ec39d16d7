from mcp_server_milvus.cli import main

main()
