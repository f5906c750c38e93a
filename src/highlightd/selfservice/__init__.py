"""Self-service: the commands users give the bot, declared once, run from IRC and from SMS.

Between the two sides (irc, web) and the services they use: both import it, it
imports neither.
"""
