from sirena.cli import main

main()
