from web.cli import run

run()
