"""Whether a unit is fit for use: its verification, calibration and intermediate-check
certificates, their due dates, the lab's choice to block or flag an overdue unit, and
reminders before a certificate falls due."""
