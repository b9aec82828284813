"""The device gateway agent (`pigeon gateway`): runs on a Mac signed into iMessage, claims
messages from a pigeon server with its device token, sends them through a driver, and
reports each result. It needs no open port: it only makes outgoing requests.

Nothing here imports the server (SQLAlchemy, FastAPI, the database drivers): the agent
installs with `pip install pigeon` alone.
"""
