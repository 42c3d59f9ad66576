"""junheng (均衡): evaluation of county compulsory-education high-quality balance (优质均衡)."""

__version__ = "0.1.0"
