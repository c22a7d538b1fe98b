from assembly.cli import run

run()
