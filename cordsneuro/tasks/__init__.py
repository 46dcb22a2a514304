"""cordsneuro.tasks"""
