"""The Lambda runtime of the local cloud: built zips run in warm execution environments."""
