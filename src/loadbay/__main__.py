from loadbay.cli import main

main()
