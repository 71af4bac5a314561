"""Asterisk queue_log: the line parser, the follower that sends calls, `opstrack import asterisk`."""
